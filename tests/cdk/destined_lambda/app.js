// The Destined Lambda (cdkpatterns.com), as a CDK app for Cloudmicro's tests:
// GET / on a REST API publishes "please <mode>" to an SNS topic through an AWS integration
// (a VTL request template); a Lambda function subscribed to the topic succeeds or fails, and
// its Destinations (OnSuccess, OnFailure) put the record on an EventBridge bus; in a nested
// stack, rules on detail.requestContext.condition and detail.responsePayload route each
// record to one of two logging functions.
const path = require("path");
const cdk = require("aws-cdk-lib");
const apigw = require("aws-cdk-lib/aws-apigateway");
const events = require("aws-cdk-lib/aws-events");
const targets = require("aws-cdk-lib/aws-events-targets");
const iam = require("aws-cdk-lib/aws-iam");
const lambda = require("aws-cdk-lib/aws-lambda");
const destinations = require("aws-cdk-lib/aws-lambda-destinations");
const sources = require("aws-cdk-lib/aws-lambda-event-sources");
const sns = require("aws-cdk-lib/aws-sns");

const RUNTIME = lambda.Runtime.PYTHON_3_11;
const code = (name) => lambda.Code.fromAsset(path.join(__dirname, "lambdas", name));

class Loggers extends cdk.NestedStack {
  constructor(scope, id, props) {
    super(scope, id, props);
    this.success = new lambda.Function(this, "SuccessLambda", {
      runtime: RUNTIME, handler: "index.handler", code: code("success"),
    });
    new events.Rule(this, "SuccessRule", {
      eventBus: props.bus,
      description: "all success events are caught here and logged centrally",
      eventPattern: {
        detail: {
          requestContext: { condition: ["Success"] },
          responsePayload: { source: ["cdkpatterns.the-destined-lambda"], action: ["message"] },
        },
      },
      targets: [new targets.LambdaFunction(this.success)],
    });
    this.failure = new lambda.Function(this, "FailureLambda", {
      runtime: RUNTIME, handler: "index.handler", code: code("failure"),
    });
    new events.Rule(this, "FailureRule", {
      eventBus: props.bus,
      description: "all failure events are caught here and logged centrally",
      eventPattern: {
        detail: {
          requestContext: { condition: ["RetriesExhausted"] },
          responsePayload: { errorType: ["DestinedError"] },
        },
      },
      targets: [new targets.LambdaFunction(this.failure)],
    });
  }
}

class TheDestinedLambdaStack extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const topic = new sns.Topic(this, "theDestinedLambdaTopic", { displayName: "The Destined Lambda CDK Pattern Topic" });
    const bus = new events.EventBus(this, "destinedEventBus", { eventBusName: "the-destined-lambda" });

    const destined = new lambda.Function(this, "destinedLambda", {
      runtime: RUNTIME, handler: "index.handler", code: code("destined"),
      retryAttempts: 0,
      onSuccess: new destinations.EventBridgeDestination(bus),
      onFailure: new destinations.EventBridgeDestination(bus),
    });
    destined.addEventSource(new sources.SnsEventSource(topic));

    const loggers = new Loggers(this, "Loggers", { bus });

    const gateway = new apigw.RestApi(this, "theDestinedLambdaAPI", {
      cloudWatchRole: false,
      deployOptions: { stageName: "prod" },
    });
    const apiGatewayRole = new iam.Role(this, "ApiGatewayRole", {
      assumedBy: new iam.ServicePrincipal("apigateway.amazonaws.com"),
    });
    topic.grantPublish(apiGatewayRole);
    const integration = new apigw.AwsIntegration({
      service: "sns",
      integrationHttpMethod: "POST",
      path: "/",
      options: {
        passthroughBehavior: apigw.PassthroughBehavior.NEVER,
        credentialsRole: apiGatewayRole,
        requestParameters: {
          "integration.request.header.Content-Type": "'application/x-www-form-urlencoded'",
        },
        requestTemplates: {
          "application/json": "Action=Publish&TargetArn=$util.urlEncode('" + topic.topicArn + "')"
            + "&Message=please $input.params().querystring.get('mode')&Version=2010-03-31",
        },
        integrationResponses: [
          {
            statusCode: "200",
            responseTemplates: { "application/json": JSON.stringify({ message: "Message added to SNS topic" }) },
          },
          {
            selectionPattern: "^\\[Error\\].*",
            statusCode: "400",
            responseTemplates: { "application/json": JSON.stringify({ state: "error", message: "$util.escapeJavaScript($input.path('$.errorMessage'))" }) },
          },
        ],
      },
    });
    gateway.root.addMethod("GET", integration, {
      methodResponses: [{ statusCode: "200" }, { statusCode: "400" }],
    });

    new cdk.CfnOutput(this, "ApiId", { value: gateway.restApiId });
    new cdk.CfnOutput(this, "DestinedFunction", { value: destined.functionName });
    new cdk.CfnOutput(this, "SuccessFunction", { value: loggers.success.functionName });
    new cdk.CfnOutput(this, "FailureFunction", { value: loggers.failure.functionName });
  }
}

const app = new cdk.App();
new TheDestinedLambdaStack(app, "TheDestinedLambdaStack", {
  env: { account: process.env.CDK_DEFAULT_ACCOUNT, region: process.env.CDK_DEFAULT_REGION },
});
app.synth();
