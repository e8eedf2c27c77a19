import { mikroOrm } from './harness.ts';
import { clientSuite } from './suite.ts';

clientSuite(mikroOrm);
