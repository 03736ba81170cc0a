// ESLint checks code for mistakes; Prettier (.prettierrc.json) owns formatting, so every
// formatting rule is off here (eslint-config-prettier).
import js from '@eslint/js';
import prettier from 'eslint-config-prettier';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['dist/', 'node_modules/', 'data/', 'coverage/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  prettier,
  {
    rules: {
      // `_name` marks a parameter a callback signature requires but this code does not use.
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      // Errors rethrown for members and workers already carry the provider's detail in their
      // message; attaching `cause` everywhere is a change of its own, not a lint fix.
      'preserve-caught-error': 'off',
    },
  },
  {
    // The fakes speak raw JSON and mirror the real services' quirks (ComfyUI's 64-bit seed limit,
    // EventEmitter overloads declared by interface merging); tests poke at untyped payloads.
    files: ['test/**'],
    rules: {
      '@typescript-eslint/no-explicit-any': 'off',
      '@typescript-eslint/no-unsafe-declaration-merging': 'off',
      '@typescript-eslint/no-this-alias': 'off',
      'no-loss-of-precision': 'off',
    },
  },
);
