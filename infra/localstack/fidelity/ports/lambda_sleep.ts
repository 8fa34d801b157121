/** Port of LocalStack's test handler `lambda_sleep.py`: sleeps `TEST_SLEEP_S` seconds, then answers ok. */
import { setTimeout as sleep } from 'node:timers/promises';
import { print } from './print.ts';

const seconds = Number.parseInt(process.env.TEST_SLEEP_S ?? '0', 10);

export const handler = async () => {
  print(`sleeping for ${seconds}`);
  await sleep(seconds * 1000);
  print('done sleeping');
  return { status: 'ok' };
};
