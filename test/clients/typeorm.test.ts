import { typeorm } from './harness.ts';
import { clientSuite } from './suite.ts';

clientSuite(typeorm);
