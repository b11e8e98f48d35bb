/*
 * Resources on the device and on lin: Moddable's Resource, a HostBuffer over
 * the firmware image in flash (memory-mapped on the ESP32-S3), so a model is
 * read in place and never copied into RAM.
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
