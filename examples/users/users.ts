// The users table and its events, written together: every change commits the row and its
// event in one transaction, so either both exist or neither does.
import { createOutbox, type Queryable, uuidv7 } from 'herald';
import type { Db } from './backend.ts';
import { UserCreated, UserUpdated } from './events.ts';
import { HttpError } from './http.ts';

export interface User {
  id: string;
  email: string;
  name: string;
  createdAt: string;
  updatedAt: string;
}

interface UserRow {
  id: string;
  email: string;
  name: string;
  created_at: Date | string;
  updated_at: Date | string;
}

const toUser = (r: UserRow): User => ({
  id: r.id,
  email: r.email,
  name: r.name,
  createdAt: new Date(r.created_at).toISOString(),
  updatedAt: new Date(r.updated_at).toISOString(),
});

const emailTaken = (error: unknown, email: string) =>
  (error as { code?: unknown }).code === '23505'
    ? new HttpError(409, 'email_taken', `a user with email ${email} already exists`)
    : error;

export function usersTable(db: Db, schema: string) {
  const table = `"${schema}".users`;
  const outbox = createOutbox({ schema, source: '/users-api' });

  /**
   * Runs `fn` in a transaction; `afterCommit` runs synchronously once COMMIT has resolved, before
   * the connection is released (Herald's withTransaction cannot say that): with PGlite's one
   * connection, the relay could otherwise take it and publish before the crash.
   */
  async function transaction<T>(fn: (tx: Queryable) => Promise<T>, afterCommit?: (result: T) => void): Promise<T> {
    const tx = await db.connect();
    try {
      await tx.query('BEGIN');
      const result = await fn(tx);
      await tx.query('COMMIT');
      afterCommit?.(result);
      return result;
    } catch (error) {
      await tx.query('ROLLBACK').catch(() => {});
      throw error;
    } finally {
      tx.release();
    }
  }

  return {
    async get(id: string): Promise<User | undefined> {
      const { rows } = await db.query<UserRow>(`SELECT * FROM ${table} WHERE id = $1`, [id]);
      return rows[0] && toUser(rows[0]);
    },

    // #region create
    /** Inserts the user and appends `user.created` in the same transaction. */
    create(input: { email: string; name: string }, afterCommit?: (user: User) => void): Promise<User> {
      return transaction(async (tx) => {
        const now = new Date();
        const { rows } = await tx
          .query<UserRow>(
            `INSERT INTO ${table} (id, email, name, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING *`,
            [uuidv7(), input.email, input.name, now],
          )
          .catch((error) => Promise.reject(emailTaken(error, input.email)));
        const user = toUser(rows[0] as UserRow);
        await outbox.add(tx, UserCreated(user));
        return user;
      }, afterCommit);
    },
    // #endregion create

    /** Changes the given fields and appends `user.updated` naming them; nothing changed, no event. */
    update(id: string, changes: { email?: string | undefined; name?: string | undefined }): Promise<User | undefined> {
      return transaction(async (tx) => {
        const found = await tx.query<UserRow>(`SELECT * FROM ${table} WHERE id = $1 FOR UPDATE`, [id]);
        const before = found.rows[0];
        if (!before) return undefined;
        const changed = (['email', 'name'] as const).filter(
          (f) => changes[f] !== undefined && changes[f] !== before[f],
        );
        if (changed.length === 0) return toUser(before);
        const { rows } = await tx
          .query<UserRow>(`UPDATE ${table} SET email = $2, name = $3, updated_at = $4 WHERE id = $1 RETURNING *`, [
            id,
            changes.email ?? before.email,
            changes.name ?? before.name,
            new Date(),
          ])
          .catch((error) => Promise.reject(emailTaken(error, changes.email ?? '')));
        const user = toUser(rows[0] as UserRow);
        await outbox.add(tx, UserUpdated({ ...user, changed }));
        return user;
      });
    },
  };
}
