import { sequelize } from './harness.ts';
import { clientSuite } from './suite.ts';

clientSuite(sequelize);
