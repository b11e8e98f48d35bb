/*
 * Secrets at rest: the device's identity keys and its list of paired phones.
 * On the device they live in NVS, encrypted by ESP-IDF's NVS encryption
 * under keys that flash encryption protects; in the simulator they are
 * sealed by the host with a per-device secret that stands in for the eFuse
 * key and never enters JavaScript. Either way a copy of the flash alone
 * does not reveal them, and a modified entry reads as an error, not a value.
 */
declare module "hardware/keystore" {
	/** The entry's bytes, or undefined if it was never written. Throws if it is there but does not authenticate. */
	export function read(name: string): Uint8Array | undefined;
	export function write(name: string, secret: Uint8Array): void;
}
