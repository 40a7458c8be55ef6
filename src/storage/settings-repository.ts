import type { Knex } from 'knex';
import type { Transaction } from './db.js';

/** Named JSON values (installation salt, sealed cookie keys, …). */
export class SettingsRepository {
  constructor(
    private readonly knex: Knex,
    private readonly clock: { now(): Date },
  ) {}

  async get<T>(name: string, trx?: Transaction): Promise<T | undefined> {
    const row = await (trx ?? this.knex)('settings').where({ name }).first<{ value: T } | undefined>('value');
    return row?.value;
  }

  /** Inserts unless present; returns the stored value (the first writer wins on a race). */
  async putIfAbsent<T>(name: string, value: T, trx: Transaction): Promise<T> {
    await trx('settings')
      .insert({ name, value: JSON.stringify(value), updated_at: this.clock.now() })
      .onConflict('name')
      .ignore();
    return (await this.get<T>(name, trx))!;
  }

  async put<T>(name: string, value: T, trx: Transaction): Promise<void> {
    await trx('settings')
      .insert({ name, value: JSON.stringify(value), updated_at: this.clock.now() })
      .onConflict('name')
      .merge();
  }
}
