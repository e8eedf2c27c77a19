/** A request the inventory refuses, with the HTTP status it maps to. */
export class InventoryError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: unknown;
  constructor(status: number, code: string, message: string, details?: unknown) {
    super(message);
    this.name = 'InventoryError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const notFound = (what: string, id: string) => new InventoryError(404, 'NOT_FOUND', `${what} ${id} not found`);
