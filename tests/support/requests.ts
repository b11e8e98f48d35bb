/*
 * Tests' phones send signed requests (docs/protocol/requests.md) with the
 * phone's own code (tools/phone/requests.ts), over an MQTT client of their own.
 */
import mqtt from "mqtt";
import type { MqttClient } from "mqtt";
import type { EmbeddedBroker } from "../../tools/sim/broker.js";
import type { PhoneIdentity } from "../../tools/phone/identity.js";
import { phoneRequest, publishRequest } from "../../tools/phone/requests.js";

export async function requester(broker: EmbeddedBroker): Promise<MqttClient> {
	return mqtt.connectAsync(broker.url, { ...broker.phone, reconnectPeriod: 0 });
}

/** Seals `phone`'s request for `deviceId` and publishes it; returns the sealed bytes (for a replay). */
export async function sendRequest(client: MqttClient, phone: PhoneIdentity, deviceId: string, kind: number, payload: Uint8Array, time?: number): Promise<{ topic: string; sealed: Buffer }> {
	const request = await phoneRequest(phone, deviceId, kind, payload, time);
	await publishRequest(client, request.topic, request.sealed);
	return request;
}
