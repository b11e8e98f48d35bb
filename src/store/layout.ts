/*
 * Where each record lives in the "doorward" data partition (64 KiB, sixteen
 * 4 KiB sectors; hardware/boards/<board>/partitions.csv). One table, so that
 * no two stores share a sector. Secrets are not here: they are in the
 * keystore.
 */
export const Sectors = Object.freeze({
	/** The configuration from the factory (src/device/configuration.ts). */
	configuration: 0,
	/** The random device id and topic id (src/device/identity.ts). */
	identity: 1,
	/** The event sequence counter: two sectors (src/store/counter.ts). */
	sequence: 2,
	/** The TLS client certificate, PEM (src/device/tls-identity.ts). */
	clientCertificate: 4,
	/** The provisioning lock (src/device/tls-identity.ts). */
	provisioningLock: 5,
	/** The trusted update root, and its second copy: the valid one with the higher version is trusted (src/update/root-store.ts). */
	updateRoot: 6,
	updateRootCopy: 7,
	/** The time floor: the newest firmware build time this device has run (src/device/time.ts). */
	timeFloor: 12,
	/** Sectors 8 to 11 are left for tests; 13 to 15 hold the audit log (AuditSectors). */
} as const);

/**
 * The audit log (src/audit/log.ts): a ring of its own sectors, not records
 * (its entries are signed by the device, so they need no record MAC).
 */
export const AuditSectors = Object.freeze({ first: 13, count: 3 } as const);
