import Testing
import ScepterRedis

@Suite("Redis URL parsing (SCEPTER_REDIS_URL)", .timeLimit(.minutes(5)))
struct RedisConfigurationTests {
    @Test func hostAloneTakesTheDefaults() throws {
        let configuration = try RedisClient.Configuration(url: "redis://cache.internal")
        #expect(configuration.host == "cache.internal")
        #expect(configuration.port == 6379)
        #expect(configuration.database == 0)
        #expect(configuration.username == nil)
        #expect(configuration.password == nil)
    }

    @Test func portAndDatabase() throws {
        let configuration = try RedisClient.Configuration(url: "redis://10.0.0.7:6380/5")
        #expect(configuration.host == "10.0.0.7")
        #expect(configuration.port == 6380)
        #expect(configuration.database == 5)
        #expect(try RedisClient.Configuration(url: "redis://h:1/").database == 0)
        #expect(try RedisClient.Configuration(url: "REDIS://h/15").database == 15)
    }

    @Test func passwordWithoutUserAndWithUserPercentDecoded() throws {
        let anonymous = try RedisClient.Configuration(url: "redis://:s3cret@h:6379/1")
        #expect(anonymous.username == nil)
        #expect(anonymous.password == "s3cret")
        #expect(anonymous.database == 1)
        let named = try RedisClient.Configuration(url: "redis://edge:p%40ss%3Aw%2Frd@h")
        #expect(named.username == "edge")
        #expect(named.password == "p@ss:w/rd")
    }

    @Test func ipv6HostInBrackets() throws {
        let configuration = try RedisClient.Configuration(url: "redis://[::1]:7000/2")
        #expect(configuration.host == "::1")
        #expect(configuration.port == 7000)
        #expect(configuration.database == 2)
        #expect(configuration.description == "redis://[::1]:7000/2")
    }

    @Test func descriptionMasksThePassword() throws {
        let configuration = try RedisClient.Configuration(url: "redis://edge:hunter2@h:6379/3")
        #expect(configuration.description == "redis://edge:***@h:6379/3")
        #expect(!"\(configuration)".contains("hunter2"))
        #expect(!String(reflecting: configuration).contains("hunter2"))
        var dumped = ""
        dump(configuration, to: &dumped)
        #expect(!dumped.contains("hunter2"))
        #expect(dumped.contains("***"))
    }

    @Test(arguments: [
        ("http://h:6379", "unsupported scheme"),
        ("h:6379", "expected redis://"),
        ("redis://", "missing host"),
        ("redis://:6379", "missing host"),
        ("redis://h:0", "port"),
        ("redis://h:70000", "port"),
        ("redis://h:+80", "port"),
        ("redis://h:abc", "port"),
        ("redis://h/x", "database"),
        ("redis://h/-1", "database"),
        ("redis://h/1/2", "database"),
        ("redis://h?db=1", "query"),
        ("redis://secret@h", "colon"),
        ("redis://user:@h", "needs a password"),
        ("redis://:%zz@h", "percent-encoding"),
        ("redis://[::1:6379", "IPv6"),
    ])
    func invalidURLsAreRejectedWithAReason(url: String, reason: String) {
        #expect {
            try RedisClient.Configuration(url: url)
        } throws: { error in
            guard let error = error as? RedisError else { return false }
            return error.code == .invalidURL && error.message.contains(reason)
        }
    }

    @Test func errorsNeverEchoThePassword() {
        let error = #expect(throws: RedisError.self) {
            try RedisClient.Configuration(url: "redis://:topsecret@h:99999")
        }
        #expect(error.map { !"\($0)".contains("topsecret") } == true)
    }
}
