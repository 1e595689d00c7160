// Sagas under chaos: `count` order sagas (reserve stock, charge, publish, cache) started at a
// steady pace. Customers share accounts whose opening balance covers only part of their orders,
// so some orders are declined and compensated by design. The check wants every saga completed or
// compensated, and every stock and balance (read with raw pg) equal to what the completed orders
// imply.
import { Client } from 'pg';
import type { PrismClient } from '../../src/client/prism-client';
import type { OrderSagaInput } from '../../src/workflows/saga/input';
import type { SagaResult } from '../../src/workflows/saga/run-saga';
import { sagaLedgerKeys, sagaLedgerSql } from './config';
import { examples, retrying, sleep, until, type PatternCheck, type PatternLoad } from './load';
import type { LoadTarget } from './target';

const ORDERS_PER_CUSTOMER = 20;
const ORDERS_PER_SKU = 50;
/** A customer's opening balance covers this share of what their orders ask: the rest is declined. */
const COVERED = 0.8;
const OPENING_STOCK = 1_000_000;

interface Outcome {
  status: SagaResult['status'] | 'error';
  failedStep?: string;
  error?: string;
}

export class SagaLoad implements PatternLoad {
  readonly name = 'saga' as const;
  private readonly outcomes = new Map<number, Outcome>();
  /** customer → opening balance (COVERED of the customer's orders' total). */
  private readonly openings = new Map<string, number>();
  private started = 0;
  private startRetries = 0;

  constructor(
    private readonly target: LoadTarget,
    private readonly prism: PrismClient,
    private readonly run: string,
    private readonly count: number,
    private readonly startSeconds: number,
    private readonly deadline: number,
  ) {}

  private get customers(): number {
    return Math.max(2, Math.ceil(this.count / ORDERS_PER_CUSTOMER));
  }
  private get skus(): number {
    return Math.max(2, Math.ceil(this.count / ORDERS_PER_SKU));
  }

  describe(): string {
    return `${this.count.toLocaleString('en-US')} order sagas over ${this.customers} customers (each one's opening balance covers ${COVERED * 100}% of their orders: the rest are declined and compensated) and ${this.skus} SKUs, started over ${this.startSeconds} s`;
  }

  private customer(i: number): string {
    return `${this.run}-cust-${i % this.customers}`;
  }
  private amount(i: number): number {
    return 100 * (1 + ((i * 7) % 5));
  }

  private opening(customer: string): number {
    if (this.openings.size === 0) {
      const asked = new Map<string, number>();
      for (let i = 0; i < this.count; i++)
        asked.set(this.customer(i), (asked.get(this.customer(i)) ?? 0) + this.amount(i));
      for (const [c, total] of asked) this.openings.set(c, Math.floor((total * COVERED) / 100) * 100);
    }
    return this.openings.get(customer)!;
  }

  input(i: number): OrderSagaInput {
    return {
      orderId: `${this.run}-order-${i}`,
      sku: `${this.run}-sku-${i % this.skus}`,
      quantity: 1 + (i % 3),
      customer: this.customer(i),
      amount: this.amount(i),
      topic: `chaos-orders-${this.run}`,
      openingStock: OPENING_STOCK,
      openingBalance: this.opening(this.customer(i)),
      // A compensation outlasts any outage of the run rather than ending in compensation_failed.
      compensationAttempts: 1000,
    };
  }

  async prepare(): Promise<void> {}

  start(): void {
    const interval = (this.startSeconds * 1000) / this.count;
    const t0 = Date.now();
    void (async () => {
      for (let i = 0; i < this.count; i++) {
        const wait = t0 + i * interval - Date.now();
        if (wait > 0) await sleep(wait);
        void this.one(i);
      }
    })();
  }

  private async one(i: number): Promise<void> {
    const workflowId = `chaos-saga-${this.run}-${i}`;
    try {
      await retrying(async () => {
        try {
          await this.prism.start('orderSagaWorkflow', [this.input(i)], { pattern: 'saga', workflowId });
        } catch (err) {
          // A start whose answer was lost in an outage did start: the fixed id says so.
          if ((err as Error).name === 'WorkflowExecutionAlreadyStartedError') return;
          this.startRetries++;
          throw err;
        }
      }, this.deadline);
      this.started++;
      const result = await retrying(
        () => this.prism.handle(workflowId).result() as Promise<SagaResult>,
        this.deadline,
        1000,
      );
      this.outcomes.set(i, {
        status: result.status,
        failedStep: result.failure?.step,
        error: result.failure?.error ?? result.compensationFailure?.error,
      });
    } catch (err) {
      this.outcomes.set(i, { status: 'error', error: (err as Error).message });
    }
  }

  progress(): number {
    return this.outcomes.size;
  }

  pending(): boolean {
    return this.outcomes.size < this.count;
  }

  async finish(deadline: number): Promise<void> {
    await until(() => !this.pending(), deadline);
  }

  private async ledgers(keys: string[]): Promise<Map<string, number>> {
    const pg = new Client({ connectionString: this.target.postgresUrl });
    await pg.connect();
    try {
      const r = await pg.query<{ key: string; count: string }>(sagaLedgerSql(this.target.sagaSchema), [keys]);
      return new Map(r.rows.map((row) => [row.key, Number(row.count)]));
    } finally {
      await pg.end();
    }
  }

  async check(): Promise<PatternCheck> {
    const problems: string[] = [];
    const byStatus = new Map<string, number>();
    const declined: number[] = [];
    const otherwiseCompensated: string[] = [];
    const bad: string[] = [];
    const balance = new Map<string, number>();
    const stock = new Map<string, number>();
    for (let i = 0; i < this.count; i++) {
      const input = this.input(i);
      balance.set(input.customer, input.openingBalance!);
      stock.set(input.sku, OPENING_STOCK);
    }
    for (let i = 0; i < this.count; i++) {
      const o = this.outcomes.get(i) ?? { status: 'error', error: 'no outcome before the deadline' };
      byStatus.set(o.status, (byStatus.get(o.status) ?? 0) + 1);
      const input = this.input(i);
      if (o.status === 'completed') {
        balance.set(input.customer, balance.get(input.customer)! - input.amount);
        stock.set(input.sku, stock.get(input.sku)! - input.quantity);
      } else if (o.status === 'compensated') {
        if (o.failedStep === 'charge' && /balance too low/.test(o.error ?? '')) declined.push(i);
        else otherwiseCompensated.push(`${input.orderId}: ${o.failedStep} ${o.error ?? ''}`.slice(0, 160));
      } else {
        bad.push(`${input.orderId}: ${o.status} ${o.error ?? ''}`.slice(0, 200));
      }
    }
    if (bad.length > 0) problems.push(`${bad.length} sagas neither completed nor compensated: ${examples(bad, 3)}`);
    const keys = [...[...balance.keys()].map(sagaLedgerKeys.account), ...[...stock.keys()].map(sagaLedgerKeys.stock)];
    const actual = await this.ledgers(keys);
    const wrong: string[] = [];
    for (const [customer, want] of balance) {
      const got = actual.get(sagaLedgerKeys.account(customer)) ?? this.opening(customer);
      if (got !== want) wrong.push(`balance ${customer}: ${got}, completed orders imply ${want}`);
    }
    for (const [sku, want] of stock) {
      const got = actual.get(sagaLedgerKeys.stock(sku)) ?? OPENING_STOCK;
      if (got !== want) wrong.push(`stock ${sku}: ${got}, completed orders imply ${want}`);
    }
    if (wrong.length > 0) problems.push(`${wrong.length} ledgers differ: ${examples(wrong, 3)}`);
    return {
      pattern: this.name,
      ok: problems.length === 0,
      counts: {
        sagas: this.count,
        completed: byStatus.get('completed') ?? 0,
        'compensated (declined)': declined.length,
        'compensated (other)': otherwiseCompensated.length,
        neither: bad.length,
        'start retries': this.startRetries,
        'ledgers checked': keys.length,
        'ledgers wrong': wrong.length,
      },
      problems: [
        ...problems,
        ...(otherwiseCompensated.length > 0
          ? [
              `(not a failure) compensated for another reason than a declined charge: ${examples(otherwiseCompensated, 3)}`,
            ]
          : []),
      ],
    };
  }

  async close(): Promise<void> {}
}
