/*
 * Resources on the device and on lin: Moddable's Resource
 * (modules/files/resource), the same module on both. Its instances are host
 * objects holding a petrified (read-only) host buffer over the resource's
 * bytes in the firmware image: on the ESP32-S3 memory-mapped flash, so a
 * model is read in place and never copied into RAM; on lin the app's shared
 * library. A Resource is not an ArrayBuffer, and XS has no HostBuffer global:
 * code that takes one must accept host objects (see hardware/inference).
 */
import Resource from "Resource";

export default function resource(name: string): HostBuffer {
	if (!Resource.exists(name))
		throw new Error(`resource: ${name} is not in the firmware image`);
	return new Resource(name);
}

export function hasResource(name: string): boolean {
	return Resource.exists(name);
}
