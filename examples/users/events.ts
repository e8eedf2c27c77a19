// The users API's events: one per change of a user, keyed by the user's id so that a user's
// events are published in the order they were committed.
import { defineEvent } from 'herald';
import { z } from 'zod';

export const topic = process.env.USERS_TOPIC ?? 'users';

const user = z.object({
  id: z.string().uuid(),
  email: z.string(),
  name: z.string(),
  createdAt: z.string(),
  updatedAt: z.string(),
});

export const UserCreated = defineEvent({
  type: 'user.created',
  version: 1,
  destination: topic,
  schema: user,
  key: (u) => u.id,
  aggregate: (u) => ({ type: 'user', id: u.id }),
});

export const UserUpdated = defineEvent({
  type: 'user.updated',
  version: 1,
  destination: topic,
  schema: user.extend({ changed: z.array(z.enum(['email', 'name'])) }),
  key: (u) => u.id,
  aggregate: (u) => ({ type: 'user', id: u.id }),
});
