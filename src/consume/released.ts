/** Thrown inside the consumer when it stops: the message is left for redelivery, not dead-lettered. */
export class Released extends Error {
  constructor() {
    super('released at stop');
    this.name = 'Released';
  }
}
