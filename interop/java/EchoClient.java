// protobuf-java client for the protoecho Go server (interop/interop_test.go).
// Usage: java -cp protobuf.jar:CLASSES EchoClient HOST PORT
// Calls unary, streaming and cancel with writeDelimitedTo /
// parseDelimitedFrom; prints "ok: ..." lines and exits 0, or prints
// "FAIL: ..." and exits 1 on the first mismatch.
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import protoecho.EchoProto.Control;
import protoecho.EchoProto.EchoRequest;
import protoecho.EchoProto.EchoResponse;

public final class EchoClient {
  private static void fail(String msg) {
    System.out.println("FAIL: " + msg);
    System.exit(1);
  }

  private static EchoResponse next(InputStream in) throws Exception {
    EchoResponse r = EchoResponse.parseDelimitedFrom(in);
    if (r == null) fail("connection closed by server");
    return r;
  }

  public static void main(String[] args) throws Exception {
    try (Socket s = new Socket(args[0], Integer.parseInt(args[1]))) {
      s.setSoTimeout(20000);
      s.setTcpNoDelay(true);
      InputStream in = s.getInputStream();
      OutputStream out = s.getOutputStream();

      EchoRequest.newBuilder().setRequestId(7).setMessage("hello from java").build().writeDelimitedTo(out);
      out.flush();
      EchoResponse r = next(in);
      if (r.getRequestId() != 7 || r.getCode() != Control.NORMAL || !r.getMessage().equals("hello from java")) {
        fail("unary: got " + r);
      }
      System.out.println("ok: unary");

      final int n = 5;
      EchoRequest.newBuilder().setRequestId(8).setMessage("tick").setStreamCount(n).build().writeDelimitedTo(out);
      out.flush();
      for (int i = 0; i < n; i++) {
        r = next(in);
        if (r.getRequestId() != 8 || r.getCode() != Control.NORMAL || r.getSeq() != i || !r.getMessage().equals("tick")) {
          fail("stream reply " + i + ": got " + r);
        }
      }
      r = next(in);
      if (r.getRequestId() != 8 || r.getCode() != Control.END) fail("stream end: got " + r);
      System.out.println("ok: stream " + n);

      EchoRequest.newBuilder().setRequestId(9).setMessage("slow").setDelayMs(30000).build().writeDelimitedTo(out);
      EchoRequest.newBuilder().setRequestId(9).setCode(Control.CANCEL).build().writeDelimitedTo(out);
      out.flush();
      r = next(in);
      // The server aborts the call and answers Cancel (never End), as protosocket-rpc.
      if (r.getRequestId() != 9 || r.getCode() != Control.CANCEL) fail("cancel: got " + r);
      System.out.println("ok: cancel");
    }
    System.out.println("PASS java");
  }
}
