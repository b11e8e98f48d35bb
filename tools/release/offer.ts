/*
 * Offers a signed bundle to one device over MQTT (src/update/delivery.ts):
 * QoS 1 messages of `offset | length | up to 8 KiB` on dw/<topic id>/up, one
 * at a time, each acknowledged by the broker before the next.
 */
import mqtt from "mqtt";
import type { IClientOptions } from "mqtt";
import { randomBytes } from "node:crypto";

export const chunkBytes = 8192;

export async function offerBundle(url: string, topicId: string, bundle: Uint8Array, options: IClientOptions = {}): Promise<number> {
	if (!/^[0-9a-f]{32}$/.test(topicId))
		throw new Error(`topic id ${topicId}: 32 hex digits expected`);
	const client = await mqtt.connectAsync(url, { clientId: `release-${randomBytes(4).toString("hex")}`, reconnectPeriod: 0, connectTimeout: 5000, ...options });
	let messages = 0;
	try {
		for (let offset = 0; offset < bundle.length; offset += chunkBytes) {
			const bytes = bundle.subarray(offset, Math.min(bundle.length, offset + chunkBytes));
			const header = Buffer.alloc(8);
			header.writeUInt32BE(offset, 0);
			header.writeUInt32BE(bundle.length, 4);
			await client.publishAsync(`dw/${topicId}/up`, Buffer.concat([header, bytes]), { qos: 1 });
			messages++;
		}
	}
	finally {
		await client.endAsync();
	}
	return messages;
}
