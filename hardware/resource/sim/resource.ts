/*
 * Resources in the simulator host: files in the folder that the host's
 * --resources option names (the tools pass models/). Each is read once into
 * memory that the object owns and exposed as a read-only host buffer, the
 * kind of object Moddable's Resource is on the device and on lin
 * (modules/files/resource: a Native class whose instances hold a petrified
 * host buffer over the firmware image). So code that takes a resource meets
 * here what it meets there: neither an ArrayBuffer nor a view, and not
 * writable; `new Uint8Array(resource)` reads it, `slice()` copies it.
 */
function check(name: string): void {
	if ((typeof name !== "string") || !/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith("."))
		throw new RangeError(`resource: invalid name ${String(name)}`);
}

/** The subset of Moddable's Resource (modules/files/resource/Resource.js) that Doorward uses. */
class Resource extends Native("xs_resource_destructor") {
	constructor(name: string) {
		super();
		native("xs_resource_open").call(this, name);
	}

	get byteLength(): number {
		return native("xs_resource_byte_length").call(this);
	}

	/** A copy of bytes `begin` to `end` as an ArrayBuffer, as Resource's slice() with its default copy. */
	slice(begin = 0, end?: number): ArrayBuffer {
		return new Uint8Array(this as unknown as ArrayBuffer).slice(begin, end).buffer as ArrayBuffer;
	}
}
Object.freeze(Resource.prototype);

export default function resource(name: string): HostBuffer {
	check(name);
	return new Resource(name) as unknown as HostBuffer;
}

export function hasResource(name: string): boolean {
	check(name);
	return native("xs_resource_exists").call(undefined, name);
}
