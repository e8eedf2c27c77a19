import { nodePostgres } from './harness.ts';
import { clientSuite } from './suite.ts';

clientSuite(nodePostgres);
