import { drizzleNodePostgres } from './harness.ts';
import { clientSuite } from './suite.ts';

clientSuite(drizzleNodePostgres);
