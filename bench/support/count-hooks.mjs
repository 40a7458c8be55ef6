/**
 * Preloaded (`node --import`) by bench/token-counts-dev.ts into the service process and the bare
 * provider: counts the promises the process makes (an async_hooks init hook) and the bytes it
 * allocates on the V8 heap (heap used now, plus what every collection freed, from v8.GCProfiler),
 * and writes both to COUNT_HOOKS_FILE on SIGUSR2. A development tool, never loaded otherwise.
 */
import { createHook } from 'node:async_hooks';
import { writeFileSync } from 'node:fs';
import v8 from 'node:v8';

let promises = 0;
createHook({
  init(_id, type) {
    if (type === 'PROMISE') promises++;
  },
}).enable();

const used = () => v8.getHeapStatistics().used_heap_size;
let freed = 0;
let collections = 0;
const gc = new v8.GCProfiler();
gc.start();
// GCProfiler reports at stop(): restart it at each reading to sum what was freed.
function drain() {
  const report = gc.stop();
  for (const s of report?.statistics ?? []) {
    collections++;
    freed += s.beforeGC.heapStatistics.usedHeapSize - s.afterGC.heapStatistics.usedHeapSize;
  }
  gc.start();
}
process.on('SIGUSR2', () => {
  drain();
  writeFileSync(process.env.COUNT_HOOKS_FILE, JSON.stringify({ at: Date.now(), promises, allocated: used() + freed, collections }));
});

// COUNT_HEAP_PROFILE=<file>: V8's sampling heap profiler, keeping what the collector took (so it
// samples every allocation), from the first reading to the second, written to that file.
if (process.env.COUNT_HEAP_PROFILE) {
  const { Session } = await import('node:inspector');
  const session = new Session();
  session.connect();
  const post = (method, params) => new Promise((resolve, reject) => session.post(method, params, (err, r) => (err ? reject(err) : resolve(r))));
  let readings = 0;
  process.on('SIGUSR2', () => {
    readings++;
    if (readings === 1) void post('HeapProfiler.startSampling', { samplingInterval: 512, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
    else if (readings === 2)
      void post('HeapProfiler.stopSampling').then(({ profile }) => writeFileSync(process.env.COUNT_HEAP_PROFILE, JSON.stringify(profile)));
  });
}
