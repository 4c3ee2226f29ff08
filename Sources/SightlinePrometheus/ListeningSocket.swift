import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP socket bound and listening, made before libmicrohttpd takes it over.
struct ListeningSocket {
    let descriptor: Int32
    let port: Int

    /// Resolves `host`, binds `port` (0 for any free port) and listens.
    static func bind(host: String, port: Int) throws(MetricsServerError) -> ListeningSocket {
        func failure(_ code: MetricsServerError.Code, _ message: String) -> MetricsServerError {
            MetricsServerError(code: code, host: host, port: port, message: message)
        }

        guard (0...65535).contains(port) else {
            throw failure(.invalidPort, "the port must be from 0 to 65535")
        }
        guard var address = SocketAddress.resolve(host: host, port: UInt16(port)) else {
            throw failure(.invalidAddress, "the host is not an address and does not resolve")
        }

        let descriptor = socket(
            address.family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard descriptor >= 0 else {
            throw failure(.bindFailed, "socket() failed: \(Self.systemError())")
        }

        var one: Int32 = 1
        setsockopt(
            descriptor, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        if address.family == AF_INET6 {
            setsockopt(
                descriptor, Int32(IPPROTO_IPV6), IPV6_V6ONLY, &one,
                socklen_t(MemoryLayout<Int32>.size))
        }

        let bound = address.withSockaddr { Glibc.bind(descriptor, $0, $1) }
        guard bound == 0 else {
            let code: MetricsServerError.Code = errno == EADDRINUSE ? .portInUse : .bindFailed
            let reason = Self.systemError()
            close(descriptor)
            throw failure(
                code, code == .portInUse ? "the port is already in use (\(reason))" : reason)
        }
        guard listen(descriptor, 64) == 0 else {
            let reason = Self.systemError()
            close(descriptor)
            throw failure(.bindFailed, "listen() failed: \(reason)")
        }

        let actualPort = address.readBoundPort(descriptor) ?? port
        return ListeningSocket(descriptor: descriptor, port: actualPort)
    }

    private static func systemError() -> String {
        String(cString: strerror(errno))
    }
}

/// An IPv4 or IPv6 socket address.
struct SocketAddress {
    var storage = sockaddr_storage()
    var family: Int32
    var length: socklen_t

    /// `localhost` is 127.0.0.1; literals parse as IPv4 or IPv6 (brackets allowed); other
    /// names take the resolver's first TCP address.
    static func resolve(host: String, port: UInt16) -> SocketAddress? {
        var name = host
        // Not yet: `localhost` binds IPv4 only; a scraper that resolves it to ::1 first
        // cannot connect. Configure "::1" for IPv6.
        if name == "localhost" { name = "127.0.0.1" }
        if name.hasPrefix("["), name.hasSuffix("]") { name = String(name.dropFirst().dropLast()) }

        var hints = addrinfo()
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_family = AF_UNSPEC
        hints.ai_flags = AI_PASSIVE
        var list: UnsafeMutablePointer<addrinfo>?
        guard getaddrinfo(name, String(port), &hints, &list) == 0, let first = list else {
            return nil
        }
        defer { freeaddrinfo(list) }

        var address = SocketAddress(
            family: first.pointee.ai_family, length: first.pointee.ai_addrlen)
        withUnsafeMutableBytes(of: &address.storage) { storage in
            storage.copyMemory(
                from: UnsafeRawBufferPointer(
                    start: first.pointee.ai_addr, count: Int(first.pointee.ai_addrlen)))
        }
        return address
    }

    mutating func withSockaddr<T>(_ body: (UnsafePointer<sockaddr>, socklen_t) -> T) -> T {
        let length = length
        return withUnsafePointer(to: &storage) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { body($0, length) }
        }
    }

    func readBoundPort(_ descriptor: Int32) -> Int? {
        var bound = sockaddr_storage()
        var size = socklen_t(MemoryLayout<sockaddr_storage>.size)
        let result = withUnsafeMutablePointer(to: &bound) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                getsockname(descriptor, $0, &size)
            }
        }
        guard result == 0 else { return nil }

        let family = Int32(bound.ss_family)
        return withUnsafePointer(to: &bound) { pointer in
            if family == AF_INET6 {
                return pointer.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) {
                    Int(UInt16(bigEndian: $0.pointee.sin6_port))
                }
            }
            return pointer.withMemoryRebound(to: sockaddr_in.self, capacity: 1) {
                Int(UInt16(bigEndian: $0.pointee.sin_port))
            }
        }
    }
}
