import type { ChatInputCommand } from '../src/bot/command.js';
import { executeSession, sessionCommandData } from '../src/features/sessions/command.js';

export default { data: sessionCommandData, execute: executeSession } satisfies ChatInputCommand;
