/*
 * Read-only data built into the firmware image (the face detection model).
 * On the device and on lin it is Moddable's Resource: a host object whose
 * host buffer is the bytes in the image (mapped from flash on the device),
 * never copied into RAM. The simulator host reads it from the folder that
 * its --resources option names into the same kind of object. Either way it
 * is not an ArrayBuffer: `new Uint8Array(resource)` reads it, read-only.
 */
declare module "hardware/resource" {
	export default function resource(name: string): HostBuffer;
	export function hasResource(name: string): boolean;
}
