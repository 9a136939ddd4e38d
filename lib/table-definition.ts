/**
 * Maps the one table definition (`adapters/table-schema.ts`, which the local stack hands to
 * DynamoDB Local's CreateTable) onto CDK's `Table` props, so key names, key types, the sweep
 * index and its projection are never retyped here.
 */
import {
  type Attribute,
  AttributeType,
  type GlobalSecondaryIndexProps,
  ProjectionType,
} from 'aws-cdk-lib/aws-dynamodb';
import { createTableInput, TABLE_SCHEMA } from '../adapters/table-schema.js';

export interface TableKeyDefinition {
  readonly partitionKey: Attribute;
  readonly sortKey?: Attribute;
}

export interface TableDefinition extends TableKeyDefinition {
  readonly timeToLiveAttribute: string;
  readonly globalSecondaryIndexes: readonly GlobalSecondaryIndexProps[];
}

type KeyElement = { AttributeName?: string | undefined; KeyType?: string | undefined };

const ATTRIBUTE_TYPES: Record<string, AttributeType> = {
  S: AttributeType.STRING,
  N: AttributeType.NUMBER,
  B: AttributeType.BINARY,
};

const PROJECTION_TYPES: Record<string, ProjectionType> = {
  KEYS_ONLY: ProjectionType.KEYS_ONLY,
  ALL: ProjectionType.ALL,
  INCLUDE: ProjectionType.INCLUDE,
};

/** The table's key schema, attribute types, TTL attribute and indexes, read from `TABLE_SCHEMA`. */
export function tableDefinition(): TableDefinition {
  const input = createTableInput('switchboard');
  const types = new Map((input.AttributeDefinitions ?? []).map((d) => [d.AttributeName, d.AttributeType]));

  const attribute = (name: string | undefined): Attribute => {
    const type = name === undefined ? undefined : ATTRIBUTE_TYPES[types.get(name) ?? ''];
    if (name === undefined || type === undefined) {
      throw new Error(
        `adapters/table-schema.ts: key attribute ${JSON.stringify(name)} has no S/N/B definition`,
      );
    }
    return { name, type };
  };
  const keys = (schema: readonly KeyElement[] | undefined): TableKeyDefinition => {
    const hash = schema?.find((k) => k.KeyType === 'HASH');
    const range = schema?.find((k) => k.KeyType === 'RANGE');
    const partitionKey = attribute(hash?.AttributeName);
    return range ? { partitionKey, sortKey: attribute(range.AttributeName) } : { partitionKey };
  };

  const globalSecondaryIndexes = (input.GlobalSecondaryIndexes ?? []).map(
    (gsi): GlobalSecondaryIndexProps => {
      const projectionType = PROJECTION_TYPES[gsi.Projection?.ProjectionType ?? 'ALL'];
      if (gsi.IndexName === undefined || projectionType === undefined) {
        throw new Error(`adapters/table-schema.ts: index ${JSON.stringify(gsi.IndexName)} is incomplete`);
      }
      const nonKeyAttributes = gsi.Projection?.NonKeyAttributes;
      return {
        indexName: gsi.IndexName,
        ...keys(gsi.KeySchema),
        projectionType,
        ...(nonKeyAttributes ? { nonKeyAttributes } : {}),
      };
    },
  );

  return { ...keys(input.KeySchema), timeToLiveAttribute: TABLE_SCHEMA.ttlAttribute, globalSecondaryIndexes };
}
