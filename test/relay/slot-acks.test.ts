// When the CDC relay acknowledges its slot: at most once an interval, only forward, and what was
// held back is still there to send at stop. No database: the positions are plain LSN text.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { slotAcks } from '../../src/relay/slot-acks.ts';
import { lsnText, lsnValue } from '../../src/store/replication.ts';

describe('slot acknowledgements', () => {
  it('sends at most once an interval, the newest position, and keeps the rest for flush()', () => {
    let now = 1_000;
    const acks = slotAcks(100, '0/0', () => now);
    assert.equal(acks.offer('0/100'), '0/100', 'the first is sent at once');
    assert.equal(acks.offer('0/200'), null, 'then held for the interval');
    assert.equal(acks.offer('0/300'), null);
    now += 100;
    assert.equal(acks.offer('0/400'), '0/400', 'the newest, once the interval has passed');
    assert.equal(acks.offer('0/500'), null);
    assert.equal(acks.flush(), '0/500', 'held back, sent before the stream closes');
    assert.equal(acks.flush(), null, 'once');
  });

  it('never goes back: an older idle position neither replaces nor follows a newer one', () => {
    let now = 1_000;
    const acks = slotAcks(100, '0/0', () => now);
    assert.equal(acks.offer('1/A0'), '1/A0');
    assert.equal(acks.offer('1/F0'), null);
    // The server's last keepalive, older than what was just published.
    assert.equal(acks.offer('1/C0'), null);
    assert.equal(acks.flush(), '1/F0');
    now += 100;
    assert.equal(acks.offer('1/C0'), null, 'not sent after the newer one');
  });

  it('sends what it held once the interval passed, even when the next offer is no newer', () => {
    let now = 1_000;
    const acks = slotAcks(100, '0/0', () => now);
    acks.offer('0/10');
    assert.equal(acks.offer('0/20'), null);
    now += 150;
    assert.equal(acks.offer('0/20'), '0/20', 'a quiet stream still acknowledges what was published');
    assert.equal(acks.offer('0/20'), null, 'and not twice');
  });

  it('LSN text and numbers convert both ways, across the 32-bit boundary', () => {
    for (const lsn of ['0/0', '0/1', '16/B374D848', '1/0', 'FFFFFFFF/FFFFFFFF'])
      assert.equal(lsnText(lsnValue(lsn)), lsn);
    assert.equal(lsnText(lsnValue('1/0') - 1n), '0/FFFFFFFF');
  });

  it("sends nothing at or below where the slot already stands (a new stream's catch-up keepalives)", () => {
    const acks = slotAcks(100, '2/500', () => 1_000);
    assert.equal(acks.offer('2/400'), null);
    assert.equal(acks.offer('2/500'), null);
    assert.equal(acks.flush(), null);
    assert.equal(acks.offer('2/600'), '2/600');
  });
});
