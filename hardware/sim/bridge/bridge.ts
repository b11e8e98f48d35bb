/*
 * The simulated device's end of the bridge to the world. Simulated
 * peripherals (button, PIR, camera, provisioning) listen here for their
 * message type; there is one listener per type, as there is one device per pin.
 */

type Listener = (payload: ArrayBuffer) => void;

function listen(this: unknown, listener: (type: number, payload: ArrayBuffer) => void): void {
	return native("xs_bridge_listen").call(this, listener);
}
function sendNative(this: unknown, type: number, payload?: ArrayBuffer): void {
	return native("xs_bridge_send").call(this, type, payload);
}

// Made at run time, not at module load: this module is preloaded, and a Map
// that a preloaded module creates is frozen in flash (read-only) on the device.
let listeners: Map<number, Listener> | undefined;
let listening = false;

function table(): Map<number, Listener> {
	listeners ??= new Map();
	return listeners;
}

function dispatch(type: number, payload: ArrayBuffer): void {
	const listener = table().get(type);
	if (listener)
		listener(payload);
	else
		trace(`sim/bridge: no listener for message type ${type}, dropped\n`);
}

export function onMessage(type: number, listener: Listener): void {
	if (table().has(type))
		throw new Error(`sim/bridge: message type ${type} already has a listener`);
	table().set(type, listener);
	if (!listening) {
		listen(dispatch);
		listening = true;
	}
}

export function offMessage(type: number): void {
	table().delete(type);
}

export function send(type: number, payload?: ArrayBuffer): void {
	sendNative(type, payload);
}

/** For a simulated digital input: calls `onHigh` each time the world sets the line (payload u8 1). */
export function onLineHigh(type: number, onHigh: () => void): void {
	onMessage(type, (payload) => {
		if ((payload.byteLength === 1) && (new Uint8Array(payload)[0] === 1))
			onHigh();
	});
}
