import { prisma } from './harness.ts';
import { clientSuite } from './suite.ts';

clientSuite(prisma);
