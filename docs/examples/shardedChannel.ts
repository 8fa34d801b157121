// Orders sharded by customer over three queues: one customer's orders always reach one shard.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { Channel, ShardedChannel } from 'fnmesh';

interface Order {
  customer: string;
  total: number;
}

const sqs = new SQSClient({});
const dynamodb = new DynamoDBClient({});
const shards = [0, 1, 2].map(
  (i) =>
    new Channel<Order>({
      sqs,
      dynamodb,
      tableName: 'fnmesh-dev-mesh',
      name: `orders-${i}`,
      queueUrl: `https://sqs.eu-west-1.amazonaws.com/123456789012/fnmesh-dev-orders-${i}`,
    }),
);
const orders = new ShardedChannel<Order, Channel<Order>>({ shards });

export async function placeOrder(order: Order): Promise<string> {
  await orders.send(order.customer, order);
  return orders.shardOf(order.customer).name;
}
