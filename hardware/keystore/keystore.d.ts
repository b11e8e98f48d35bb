/*
 * Secrets at rest: the device's identity keys, its record key and its list
 * of paired phones. On the device they live in NVS, encrypted by ESP-IDF's
 * NVS encryption (XTS-AES) under keys that flash encryption protects; in the
 * simulator they are sealed by the host (AES-GCM) with a per-device secret
 * that stands in for the eFuse key and never enters JavaScript. Either way a
 * copy of the flash alone does not reveal them. In the simulator a modified
 * entry reads as an error. On the device XTS does not authenticate: a
 * modified entry is caught only as corruption, by NVS's CRC-32s, and NVS
 * then drops it (it reads as absent). Neither stops an older copy of an
 * entry from being written back.
 */
declare module "hardware/keystore" {
	/** The entry's bytes, or undefined if it was never written. Throws if it is there but does not authenticate (simulator). */
	export function read(name: string): Uint8Array | undefined;
	export function write(name: string, secret: Uint8Array): void;
}
