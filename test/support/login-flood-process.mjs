// A flood of wrong password logins, in a process of its own (as a real attacker's would be): the
// service under test does not share its event loop with the flood's clients.
// Input (env FLOOD, JSON): { threads: [{ url, headers, fields, login }] }, each thread posts its
// form again and again with a new wrong password. Prints "answered <n>" as responses come, and on
// SIGTERM, once the requests in flight are answered, one line "statuses <json>", then exits.
const { threads } = JSON.parse(process.env.FLOOD);
let running = true;
const statuses = {};
let answered = 0;
process.on('SIGTERM', () => (running = false));

async function thread(t, i) {
  for (let n = 0; running; n++) {
    const body = new URLSearchParams({ ...t.fields, login: t.login, password: `sai-mat-khau-${i}-${n}` }).toString();
    try {
      const res = await fetch(t.url, { method: 'POST', headers: { ...t.headers, 'content-type': 'application/x-www-form-urlencoded' }, body, redirect: 'manual' });
      await res.arrayBuffer();
      statuses[res.status] = (statuses[res.status] ?? 0) + 1;
    } catch (err) {
      statuses.error = (statuses.error ?? 0) + 1;
      process.stderr.write(`${err}\n`);
    }
    answered++;
    process.stdout.write(`answered ${answered}\n`);
  }
}

await Promise.all(threads.map(thread));
process.stdout.write(`statuses ${JSON.stringify(statuses)}\n`);
