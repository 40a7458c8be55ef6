import { describe, expect, it } from '@jest/globals';
import { halves, PIPELINE_FROM, settleAll } from '../../../src/certificates/batch-requests.js';

/** The two halves of a large approval batch (docs/ca.md, "Batch issuance"): how it is cut, and how a failure is reported. */
describe('batch approval in halves', () => {
  it('keeps a small batch whole and cuts a large one in two, every item once and in order', () => {
    const small = Array.from({ length: PIPELINE_FROM - 1 }, (_, i) => i);
    expect(halves(small)).toEqual([small]);
    const large = Array.from({ length: 1000 }, (_, i) => i);
    const [a, b] = halves(large);
    expect(a).toHaveLength(500);
    expect([...a, ...b]).toEqual(large);
    expect(halves(Array.from({ length: 65 }, (_, i) => i)).map((h) => h.length)).toEqual([33, 32]);
  });

  it('answers a failure only once every half has finished, with the first failure', async () => {
    const finished: string[] = [];
    const slow = new Promise<void>((resolve) => setTimeout(() => {
      finished.push('slow');
      resolve();
    }, 50));
    const failing = (async () => {
      finished.push('failing');
      throw new Error('the database went away');
    })();
    const late = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
      throw new Error('a later failure');
    })();
    await expect(settleAll([failing, slow, late])).rejects.toThrow('the database went away');
    expect(finished).toEqual(['failing', 'slow']);
    await expect(settleAll([Promise.resolve(), slow])).resolves.toBeUndefined();
  });
});
