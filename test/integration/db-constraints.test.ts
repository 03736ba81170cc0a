import { databaseContract } from '../support/db-contract.js';
import { createTestDatabase } from '../support/postgres.js';

databaseContract('PostgreSQL server', () => createTestDatabase({ migrated: true }));
