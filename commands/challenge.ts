import type { ChatInputCommand } from '../src/bot/command.js';
import { challengeCommandData, executeChallenge } from '../src/features/challenges/command.js';

export default { data: challengeCommandData, execute: executeChallenge } satisfies ChatInputCommand;
