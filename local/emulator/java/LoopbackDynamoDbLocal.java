/*
 * Starts AWS's DynamoDB Local bound to 127.0.0.1, answering loopback Host names only (PROTOCOL §1).
 *
 * DynamoDBLocal.jar has no bind option (`-help` lists -port, -inMemory, -dbPath, -sharedDb, -cors,
 * -delayTransientStatuses, -disableTelemetry, -optimizeDbBeforeStartup, -version): its
 * DynamoDBProxyServer builds `new org.eclipse.jetty.server.Server(port)`, whose connector listens
 * on every interface, and Jetty reads no system property for the host. So this launcher builds the
 * server exactly as the jar's own main does (ServerRunner.createServerFromCommandLineArgs, the same
 * arguments), and before starting it sets each connector's host to 127.0.0.1 and puts a Host check
 * in front of its handler. Telemetry is never configured, so none is sent.
 *
 * Compiled once per jar release by local/emulator/dynamodb-local.ts (with the JDK compiler module that
 * Java runtimes ship) and run with DynamoDBLocal.jar on the class path.
 */
import java.lang.reflect.Field;
import java.util.regex.Pattern;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.server.AbstractNetworkConnector;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.util.Callback;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDbLocal {
  /** The same rule as isLoopbackHost in local/http-io.ts: 127.0.0.0/8, localhost, [::1]; any port. */
  private static final Pattern LOOPBACK_HOST = Pattern.compile(
      "^(?:localhost|127(?:\\.(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}|\\[::1\\])(?::\\d{1,5})?$",
      Pattern.CASE_INSENSITIVE);
  private static final String HOST_REFUSED =
      "DynamoDB Local answers only requests addressed to a loopback name (127.0.0.1, localhost or [::1]).";

  private LoopbackDynamoDbLocal() {}

  /** Refuses, with 403, any request whose Host is not a loopback name (DNS rebinding). */
  private static final class LoopbackHostOnly extends Handler.Wrapper {
    LoopbackHostOnly(Handler handler) {
      super(handler);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
      String host = request.getHeaders().get(HttpHeader.HOST);
      if (host == null || !LOOPBACK_HOST.matcher(host).matches()) {
        Response.writeError(request, response, callback, 403, HOST_REFUSED);
        return true;
      }
      return super.handle(request, response, callback);
    }
  }

  public static void main(String[] args) throws Exception {
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);
    for (Connector connector : server.getConnectors()) {
      ((AbstractNetworkConnector) connector).setHost("127.0.0.1");
    }
    Handler handler = server.getHandler();
    server.setHandler((Handler) null);
    server.setHandler(new LoopbackHostOnly(handler));
    proxy.start();
    // DynamoDBProxyServer.start() reports a failed bind on stderr and stops the server.
    if (!server.isStarted()) System.exit(1);
  }
}
