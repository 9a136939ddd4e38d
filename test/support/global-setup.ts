/** Placeholder until the integration suite's DynamoDB Local setup lands. */
export default async function setup(): Promise<void> {}
