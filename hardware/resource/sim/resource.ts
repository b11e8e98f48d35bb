/*
 * Resources in the simulator host: files in the folder that the host's
 * --resources option names (the tools pass models/). Read whole into an
 * ArrayBuffer, since the host has no flash mapping to hand out.
 */
function readNative(name: string): ArrayBuffer | undefined {
	return native("xs_resource_read").call(undefined, name);
}

function check(name: string): void {
	if ((typeof name !== "string") || !/^[A-Za-z0-9_.-]+$/.test(name) || name.startsWith("."))
		throw new RangeError(`resource: invalid name ${String(name)}`);
}

export default function resource(name: string): ArrayBuffer {
	check(name);
	const bytes = readNative(name);
	if (bytes === undefined)
		throw new Error(`resource: ${name} is not in the firmware image`);
	return bytes;
}

export function hasResource(name: string): boolean {
	check(name);
	return readNative(name) !== undefined;
}
