import Sightline
import Testing

@Suite struct TraceStateTests {
    private func pairs(_ state: TraceState) -> [String] {
        state.members.map { "\($0.key)=\($0.value)" }
    }

    // MARK: - Parsing lists

    @Test func parse_whenTwoMembers_keepsOrderAndHeaderValue() {
        let state = TraceState.parse("congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")

        #expect(pairs(state) == ["congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7"])
        #expect(state.headerValue == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
        #expect(state.value(forKey: "rojo") == "00f067aa0ba902b7")
        #expect(!state.isEmpty)
    }

    @Test func parse_whenSeveralHeaders_joinsThemAsOneList() {
        let state = TraceState.parse(headers: ["congo=t61rcWkgMzE", "rojo=00f067aa0ba902b7"])

        #expect(state.headerValue == "congo=t61rcWkgMzE,rojo=00f067aa0ba902b7")
    }

    @Test func parse_whenOptionalWhitespaceAndEmptyMembers_skipsThem() {
        let state = TraceState.parse(headers: [" \tcongo=a , ,\t,rojo=b c\t ", "", ",,", " "])

        #expect(pairs(state) == ["congo=a", "rojo=b c"])
    }

    @Test func parse_whenEmpty_isEmpty() {
        let state = TraceState.parse(headers: [])

        #expect(state.isEmpty)
        #expect(state.headerValue == "")
    }

    @Test func parse_whenDuplicateKeys_keepsTheFirst() {
        let state = TraceState.parse("a=1,b=2,a=3")

        #expect(pairs(state) == ["a=1", "b=2"])
    }

    @Test func parse_whenMoreThan32Members_keepsTheFirst32() {
        let header = (0..<40).map { "k\($0)=v\($0)" }.joined(separator: ",")

        let state = TraceState.parse(header)

        #expect(state.members.count == 32)
        #expect(state.members.first?.key == "k0")
        #expect(state.members.last?.key == "k31")
    }

    @Test func parse_whenInvalidMembersAmongMany_keepsTheFirst32Valid() {
        let header = "BAD=1," + (0..<33).map { "k\($0)=v" }.joined(separator: ",")

        let state = TraceState.parse(header)

        #expect(state.members.count == 32)
        #expect(state.members.first?.key == "k0")
        #expect(state.members.last?.key == "k31")
    }

    // MARK: - Keys

    static let validKeys: [String] = [
        "a", "congo", "a0_-*/", "k" + String(repeating: "x", count: 255),
        "tenant@system", "0tenant@vendor", "t@s", "t_-*/9@s_-*/9",
        String(repeating: "t", count: 241) + "@vendor",
        "tenant@" + "s" + String(repeating: "y", count: 13),
    ]

    @Test(arguments: validKeys)
    func parse_whenKeyIsValid_keepsTheMember(_ key: String) {
        #expect(pairs(TraceState.parse("\(key)=value")) == ["\(key)=value"])
    }

    static let invalidKeys: [String] = [
        "", "Congo", "0abc", "_abc", "a.b", "a b", "k" + String(repeating: "x", count: 256),
        "@system", "tenant@", "tenant@System", "tenant@0system", "Tenant@system",
        "_tenant@system", "a@b@c",
        String(repeating: "t", count: 242) + "@vendor",
        "tenant@" + "s" + String(repeating: "y", count: 14),
        "cöngo",
    ]

    @Test(arguments: invalidKeys)
    func parse_whenKeyIsInvalid_dropsOnlyThatMember(_ key: String) {
        #expect(pairs(TraceState.parse("\(key)=value,ok=1")) == ["ok=1"])
    }

    // MARK: - Values

    static let validValues: [String] = [
        "a", "t61rcWkgMzE", " leading-space", "a b", "!\"#$%&'()*+-./:;<>?@[\\]^_`{|}~",
        String(repeating: "v", count: 256),
    ]

    @Test(arguments: validValues)
    func parse_whenValueIsValid_keepsIt(_ value: String) {
        #expect(TraceState.parse("k=\(value)").value(forKey: "k") == value)
    }

    static let invalidValues: [String] = [
        "", "a=b", "a\tb", "é", "a\u{7F}", String(repeating: "v", count: 257),
    ]

    @Test(arguments: invalidValues)
    func parse_whenValueIsInvalid_dropsOnlyThatMember(_ value: String) {
        #expect(pairs(TraceState.parse("k=\(value),ok=1")) == ["ok=1"])
    }

    @Test func parse_whenCombiningMarkFollowsComma_stillSplitsThere() {
        #expect(pairs(TraceState.parse("a=1,\u{301}b=2,c=3")) == ["a=1", "c=3"])
    }

    @Test func parse_whenMemberHasNoEquals_dropsIt() {
        #expect(pairs(TraceState.parse("novalue,ok=1")) == ["ok=1"])
    }

    @Test func parse_whenSpaceBeforeComma_treatsItAsWhitespaceNotValue() {
        #expect(TraceState.parse("k=v   ,ok=1").value(forKey: "k") == "v")
    }

    // MARK: - Updating

    @Test func setting_whenKeyIsNew_putsItFirst() {
        let state = TraceState.parse("congo=a,rojo=b")

        #expect(
            state.setting(key: "sightline", value: "x").headerValue
                == "sightline=x,congo=a,rojo=b")
    }

    @Test func setting_whenKeyExists_movesItFirstWithTheNewValue() {
        let state = TraceState.parse("congo=a,rojo=b")

        #expect(state.setting(key: "rojo", value: "c").headerValue == "rojo=c,congo=a")
    }

    @Test(arguments: [("Bad", "v"), ("ok", "v "), ("ok", ""), ("ok", "a,b"), ("ok", "a=b")])
    func setting_whenKeyOrValueIsInvalid_leavesStateUnchanged(key: String, value: String) {
        let state = TraceState.parse("congo=a")

        #expect(state.setting(key: key, value: value) == state)
    }

    @Test func setting_whenListIsFull_dropsTheRightmost() {
        let state = TraceState.parse((0..<32).map { "k\($0)=v" }.joined(separator: ","))

        let updated = state.setting(key: "new", value: "1")

        #expect(updated.members.count == 32)
        #expect(updated.members.first?.key == "new")
        #expect(updated.members.last?.key == "k30")
    }

    @Test func removing_dropsTheMember() {
        #expect(TraceState.parse("a=1,b=2").removing(key: "a").headerValue == "b=2")
    }
}
