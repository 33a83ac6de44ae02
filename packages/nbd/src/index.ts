export { NbdClient, type NbdClientOptions, type NbdStats } from './client.js';
export { NbdConnection, type BlockStatusDescriptor, type ConnectOptions, type NbdEndpoint } from './connection.js';
export { NbdDiskReader, type NbdDiskReaderOptions } from './disk-reader.js';
export { NbdError, type NbdErrorCode } from './errors.js';
export { allocatedExtents, changedExtents, coalesce, walkStatus, type StatusSegment } from './extents.js';
export { BASE_ALLOCATION, STATE_DIRTY, STATE_HOLE, STATE_ZERO, TRANSMISSION_FLAGS } from './protocol.js';
export { NbdServer, type ExportExtent, type ExportSource, type ExportStats, type NbdExports, type NbdListenAddress, type NbdServerOptions } from './server.js';
export type { WriteZeroesOptions } from './client.js';
export { NbdDiskWriter, type NbdDiskWriterOptions, type NbdDiskWriterResult } from './disk-writer.js';
