/*
 * Tests' owner: the label's code, read the way a phone reads the label, and
 * the onboarding exchange over the simulated BLE link.
 */
import { labelOf } from "../../tools/factory/label.js";
import type { PairingReply, PhoneIdentity } from "../../tools/phone/identity.js";
import type { SimulatedDevice } from "../../tools/sim/world.js";

/** The first phone of a device: the owner, admitted with the label's code. */
export async function pairOwner(device: SimulatedDevice, flash: string, phone: PhoneIdentity): Promise<PairingReply & { wifi: string }> {
	return device.pair(phone, await labelOf(device, flash));
}
