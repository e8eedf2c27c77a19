import { HeraldError } from './errors.ts';

/**
 * Loads a transport's client library, an optional peer dependency: when it is missing, the error
 * names the package to install.
 */
export async function loadOptional<T>(load: () => Promise<T>, packages: string, what: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    throw new HeraldError('HERALD_MISSING_DEPENDENCY', `${what} needs ${packages}: npm install ${packages}`, {
      cause: error,
    });
  }
}
