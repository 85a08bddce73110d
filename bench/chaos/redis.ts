// A private Redis for the redis-outage scenario: its own redis-server on a free port, nothing on
// disk, killed (SIGKILL) and started again on the same port. The machine's Redis on 6379 is never touched.
import { spawn, type ChildProcess } from 'node:child_process';
import { createConnection } from 'node:net';
import { freePort } from '@keyward/testing';
import { sleep } from './scale.js';

export interface PrivateRedis {
  readonly url: string;
  kill(): Promise<void>;
  start(): Promise<void>;
  /** Kills it if it runs; idempotent. */
  stop(): Promise<void>;
}

function answers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => socket.write('PING\r\n'));
    socket.setTimeout(500, () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('data', (d) => {
      socket.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
  });
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const start = async () => {
    if (child) return;
    child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
    const started = child;
    started.once('exit', () => {
      if (child === started) child = undefined;
    });
    for (const deadline = Date.now() + 10_000; !(await answers(port)); ) {
      if (Date.now() > deadline) {
        started.kill('SIGKILL');
        throw new Error('the private redis-server did not answer within 10 s');
      }
      await sleep(50);
    }
  };
  const kill = async () => {
    const running = child;
    if (!running) return;
    const exited = new Promise<void>((resolve) => running.once('exit', () => resolve()));
    running.kill('SIGKILL');
    await exited;
  };
  await start();
  return { url: `redis://127.0.0.1:${port}`, kill, start, stop: kill };
}
