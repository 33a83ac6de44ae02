export * from './types.js';
export { HypervisorError, type HypervisorErrorCode } from './errors.js';
export { planCbt, CHECKPOINT_PREFIX, type CbtFacts, type CbtPlan, type Repair } from './cbt-plan.js';
export { LibvirtConnector, type LibvirtConnectorOptions } from './libvirt/connector.js';
export { connectionUri } from './libvirt/uri.js';
export { Virsh } from './libvirt/virsh.js';
export { runJanitor, type JanitorAction } from './janitor.js';
export { DEFAULT_WORK_DIR, findStaleJobs } from './work-dir.js';
export { parseDomainXml, type DomainDisk, type DomainInfo } from './libvirt/domain-xml.js';
