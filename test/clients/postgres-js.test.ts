import { postgresJs } from './harness.ts';
import { clientSuite } from './suite.ts';

clientSuite(postgresJs);
