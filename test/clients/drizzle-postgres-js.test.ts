import { drizzlePostgresJs } from './harness.ts';
import { clientSuite } from './suite.ts';

clientSuite(drizzlePostgresJs);
