/*
 * Provisioning in the simulator: the world plays the factory station.
 */
import { onMessage, offMessage, send } from "sim/bridge";
import { ToDevice, ToWorld } from "sim/bridge/messages";

export function requestConfiguration(): Promise<ArrayBuffer> {
	return new Promise((resolve) => {
		onMessage(ToDevice.Provision, (payload) => {
			offMessage(ToDevice.Provision);
			resolve(payload);
		});
		send(ToWorld.ProvisionRequest);
	});
}

export function onPairingRequest(handler: (request: ArrayBuffer) => ArrayBuffer): void {
	onMessage(ToDevice.Pair, (payload) => send(ToWorld.PairReply, handler(payload)));
}
