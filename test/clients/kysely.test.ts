import { kysely } from './harness.ts';
import { clientSuite } from './suite.ts';

clientSuite(kysely);
