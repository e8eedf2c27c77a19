import { knex } from './harness.ts';
import { clientSuite } from './suite.ts';

clientSuite(knex);
