/**
 * `HeraldModule.forRoot(options)` / `forRootAsync({ imports, inject, useFactory })`: the outbox
 * as an injectable (`HeraldOutbox`), the relay started and stopped with the application, and the
 * `@HandleEvent` methods of every provider registered on consumers (one per group) at start.
 * Decorators are applied as calls: the package is plain TypeScript that Node runs as it is.
 */

import type { DynamicModule, OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';
import { Global, Inject, Injectable, Module } from '@nestjs/common';
import { DiscoveryModule, DiscoveryService } from '@nestjs/core';
import { type Consumer, type ConsumerOptions, createConsumer } from '../consume/consumer.ts';
import type { Handler } from '../consume/types.ts';
import type { OutboxEvent } from '../events/define.ts';
import { type AddedEvent, createOutbox, type Outbox } from '../outbox/outbox.ts';
import { createRelay, type Relay, type RelayOptions } from '../relay/relay.ts';
import type { ClientTransaction } from '../store/clients/index.ts';
import type { DatabaseOption } from '../store/connect.ts';
import type { Transport } from '../transports/transport.ts';
import { handlersOf } from './handlers.ts';

export interface HeraldModuleOptions {
  /** The broker: the relay publishes to it, the consumers read from it. */
  transport: Transport;
  /** The herald schema; default `HERALD_SCHEMA`, else `herald`. */
  schema?: string;
  /** CloudEvents source of the events this service writes. */
  source?: string;
  /**
   * The database handlers run on: a connection string, a pg Pool, or your client's database
   * object (Prisma, Drizzle, TypeORM's DataSource…; docs/clients.md). Default `DATABASE_URL`.
   */
  db?: DatabaseOption | object;
  /**
   * The relay, started with the application and stopped with it; its `db` is a connection string
   * or pg Pool (default: `db` when it is one, else `DATABASE_URL`). `false`: no relay in this
   * process (`herald relay` runs elsewhere).
   */
  relay?: false | Omit<RelayOptions, 'transport'>;
  /** Options of the consumers of `@HandleEvent` methods; `group` is the default group. */
  consumer?: Omit<ConsumerOptions<never>, 'transport' | 'db'>;
  /**
   * Where `outbox.add(events)` finds the transaction of a `@Transactional()` method, with
   * @nestjs-cls/transactional: `() => txHost.isTransactionActive() ? txHost.tx : undefined`.
   */
  transaction?: () => unknown;
}

export const HERALD_OPTIONS = Symbol.for('herald.nestjs.options');

/** The outbox, injectable by its class: `constructor(outbox: HeraldOutbox)`. */
export abstract class HeraldOutbox implements Outbox {
  abstract add(tx: ClientTransaction, events: OutboxEvent | readonly OutboxEvent[]): Promise<AddedEvent[]>;
  abstract add(events: OutboxEvent | readonly OutboxEvent[]): Promise<AddedEvent[]>;
}

const isDatabaseOption = (db: unknown): db is DatabaseOption =>
  typeof db === 'string' ||
  (typeof db === 'object' &&
    db !== null &&
    typeof (db as { query?: unknown }).query === 'function' &&
    typeof (db as { connect?: unknown }).connect === 'function');

/** Starts the relay and the consumers when the application has started; stops them first at close. */
class HeraldLifecycle implements OnApplicationBootstrap, OnModuleDestroy {
  readonly #options: HeraldModuleOptions;
  readonly #discovery: DiscoveryService;
  #relay: Relay | null = null;
  #consumers: Consumer<unknown>[] = [];

  constructor(options: HeraldModuleOptions, discovery: DiscoveryService) {
    this.#options = options;
    this.#discovery = discovery;
  }

  async onApplicationBootstrap(): Promise<void> {
    const o = this.#options;
    const schema = o.schema ?? o.consumer?.schema;
    const groups = new Map<string, Consumer<unknown>>();
    for (const wrapper of this.#discovery.getProviders()) {
      const instance = wrapper.instance as Record<string | symbol, unknown> | null | undefined;
      if (!instance || typeof instance !== 'object') continue;
      for (const h of handlersOf(instance)) {
        const group = h.group ?? o.consumer?.group ?? 'app';
        let consumer = groups.get(group);
        if (!consumer) {
          consumer = createConsumer({
            ...o.consumer,
            ...(schema ? { schema } : {}),
            ...(o.source ? { source: o.source } : {}),
            transport: o.transport,
            group,
            ...(o.db !== undefined ? { db: o.db } : {}),
          }) as unknown as Consumer<unknown>;
          groups.set(group, consumer);
        }
        const method = instance[h.method] as Handler<unknown, unknown>;
        consumer.on(h.definition, (event, context) => method.call(instance, event, context));
      }
    }
    if (o.relay !== false) {
      const relayDb = o.relay?.db ?? (isDatabaseOption(o.db) ? o.db : undefined);
      this.#relay = createRelay({
        ...o.relay,
        ...(schema ? { schema } : {}),
        ...(relayDb !== undefined ? { db: relayDb } : {}),
        transport: o.transport,
      });
      await this.#relay.start();
    }
    this.#consumers = [...groups.values()];
    for (const c of this.#consumers) await c.start();
  }

  async onModuleDestroy(): Promise<void> {
    for (const c of this.#consumers.splice(0)) await c.stop();
    await this.#relay?.stop();
    this.#relay = null;
  }
}
Injectable()(HeraldLifecycle);
Inject(HERALD_OPTIONS)(HeraldLifecycle, undefined, 0);
Inject(DiscoveryService)(HeraldLifecycle, undefined, 1);

const outboxProvider = {
  provide: HeraldOutbox,
  inject: [HERALD_OPTIONS],
  useFactory: (o: HeraldModuleOptions) =>
    createOutbox({
      ...(o.schema ? { schema: o.schema } : {}),
      ...(o.source ? { source: o.source } : {}),
      ...(o.transaction ? { transaction: o.transaction } : {}),
    }),
};

// biome-ignore lint/complexity/noStaticOnlyClass: a Nest dynamic module is a class with static factories.
export class HeraldModule {
  static forRoot(options: HeraldModuleOptions): DynamicModule {
    return HeraldModule.#module([], [{ provide: HERALD_OPTIONS, useValue: options }]);
  }

  static forRootAsync(options: {
    imports?: DynamicModule['imports'];
    inject?: unknown[];
    useFactory: (...args: never[]) => HeraldModuleOptions | Promise<HeraldModuleOptions>;
  }): DynamicModule {
    return HeraldModule.#module(options.imports ?? [], [
      {
        provide: HERALD_OPTIONS,
        inject: (options.inject ?? []) as never[],
        useFactory: options.useFactory as (...args: unknown[]) => HeraldModuleOptions,
      },
    ]);
  }

  static #module(imports: NonNullable<DynamicModule['imports']>, options: NonNullable<DynamicModule['providers']>) {
    return {
      module: HeraldModule,
      global: true,
      imports: [DiscoveryModule, ...imports],
      providers: [...options, outboxProvider, HeraldLifecycle],
      exports: [HeraldOutbox, HERALD_OPTIONS],
    } satisfies DynamicModule;
  }
}
Global()(HeraldModule);
Module({})(HeraldModule);
