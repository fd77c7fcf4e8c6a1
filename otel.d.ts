// `leak-detecting-pool/otel`: the pool's metrics as OpenTelemetry instruments.
import type { Meter } from '@opentelemetry/api'
import type { LeakDetectingPool } from './index'

export interface InstrumentPoolOptions {
  /** `db.client.connection.pool.name` (default: the pool's application_name, else `host:port`). */
  poolName?: string
}

export interface PoolInstrumentation {
  /** Stops reporting this pool's metrics. */
  shutdown(): void
}

/** Registers the pool's db.client.connection.* and leak instruments on `meter`. */
export function instrumentPool(pool: LeakDetectingPool, meter: Meter, options?: InstrumentPoolOptions): PoolInstrumentation
